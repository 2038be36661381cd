/**
 * Turns Ctrl+C, SIGTERM and SIGHUP into an AbortSignal whose reason is the signal's name, so a
 * job can stop its container, release its slot and exit 130/143/129 instead of dying mid-way.
 */
export function stopSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const names = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const handlers = names.map((name) => {
    const handler = (): void => {
      if (!controller.signal.aborted) controller.abort(name);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
