import type { Command } from '@oclif/core';
import type { CompletionCommand } from '../core/completion.js';

/** rp's visible commands as completion knows them, from oclif's manifest (nothing is loaded). */
export function completionCommands(commands: readonly Command.Loadable[]): CompletionCommand[] {
  return commands
    .filter((command) => !command.hidden)
    .map((command) => ({
      id: command.id.split(':').join(' '),
      flags: Object.entries(command.flags)
        .filter(([, flag]) => !flag.hidden)
        .map(([name, flag]) => ({
          name,
          ...(flag.char === undefined ? {} : { char: flag.char }),
          takesValue: flag.type === 'option',
          ...(flag.type === 'option' && flag.options ? { options: flag.options } : {}),
        })),
      args: Object.entries(command.args).map(([name, arg]) => ({
        name,
        ...(arg.options ? { options: arg.options } : {}),
      })),
    }));
}
