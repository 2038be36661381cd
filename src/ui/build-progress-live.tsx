import { Box, render, Static, Text } from 'ink';
import { useSyncExternalStore } from 'react';
import type { BuildProgress } from './build-progress.js';

const LIVE_LINES = 6;

interface ViewState {
  done: Array<{ key: number; text: string }>;
  step: string | undefined;
  lines: string[];
}

/** A tiny store the ink view subscribes to; the build pushes updates into it. */
function createStore(initial: ViewState) {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set: (next: ViewState) => {
      state = next;
      for (const listener of listeners) listener();
    },
    subscribe: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

type Store = ReturnType<typeof createStore>;

function BuildView({ store }: { store: Store }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  return (
    <>
      <Static items={state.done}>{(item) => <Text key={item.key}>{item.text}</Text>}</Static>
      {state.step !== undefined && (
        <Box flexDirection="column">
          <Text color="cyan">… step {state.step}</Text>
          {state.lines.map((line, index) => (
            <Text key={index} dimColor wrap="truncate-end">
              {'  | '}
              {line}
            </Text>
          ))}
        </Box>
      )}
    </>
  );
}

export function createLiveBuildProgress(stream: NodeJS.WriteStream): BuildProgress {
  const store = createStore({ done: [], step: undefined, lines: [] });
  let key = 0;
  let instance: ReturnType<typeof render> | undefined;
  const addDone = (text: string): void => {
    const state = store.get();
    store.set({ ...state, done: [...state.done, { key: key++, text }] });
  };
  return {
    reused: (reference) => {
      stream.write(`image ${reference} is up to date\n`);
    },
    started: (reference) => {
      instance = render(<BuildView store={store} />, {
        stdout: stream,
        patchConsole: false,
        exitOnCtrlC: false,
      });
      addDone(`building image ${reference}`);
    },
    update: (update) => {
      const state = store.get();
      if (update.kind === 'step') {
        if (state.step !== undefined) addDone(`✓ step ${state.step}`);
        store.set({ ...store.get(), step: update.step, lines: [] });
      } else {
        store.set({ ...state, lines: [...state.lines, update.line].slice(-LIVE_LINES) });
      }
    },
    finished: async (reference, ok) => {
      // React commits store updates on a later tick: let the last finished steps reach <Static>
      // before unmounting, then print the closing lines directly.
      await new Promise((resolve) => setImmediate(resolve));
      const state = store.get();
      instance?.unmount();
      if (state.step !== undefined) stream.write(`${ok ? '✓' : '✗'} step ${state.step}\n`);
      stream.write(ok ? `built ${reference}\n` : `build of ${reference} failed\n`);
    },
  };
}
