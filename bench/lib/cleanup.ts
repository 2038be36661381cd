/**
 * Everything the benchmark creates registers how to undo it here; the undo steps run in reverse
 * order at the end, on an error, and on Ctrl+C or SIGTERM, so the machine is left as it was.
 */
type Step = { what: string; undo: () => Promise<void> };

export class Cleanup {
  private steps: Step[] = [];
  private running: Promise<void> | undefined;

  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step once, newest first; a failing step is reported and the rest still run. */
  run(log: (line: string) => void): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop() as Step;
        try {
          await step.undo();
        } catch (error) {
          log(`cleanup: ${step.what} failed: ${(error as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}
