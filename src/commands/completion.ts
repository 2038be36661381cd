import { Args } from '@oclif/core';
import { basename } from 'node:path';
import { BaseCommand } from '../cli/base-command.js';
import {
  COMPLETION_SHELLS,
  completionScript,
  type CompletionShell,
} from '../core/completion-scripts.js';
import { UsageError } from '../core/errors.js';

export default class Completion extends BaseCommand {
  static override description =
    'Print the shell completion script for bash or zsh (default: the shell of $SHELL). It completes commands, flags, your job ids (rp kill, rp logs), activity names and remotes.';

  static override examples = [
    'eval "$(<%= config.bin %> completion bash)"     # in ~/.bashrc',
    '<%= config.bin %> completion bash | sudo tee /etc/bash_completion.d/<%= config.bin %>',
    'eval "$(<%= config.bin %> completion zsh)"      # in ~/.zshrc, after compinit',
  ];

  static override args = {
    shell: Args.string({ description: 'bash or zsh', options: [...COMPLETION_SHELLS] }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Completion);
    const shell = args.shell ?? basename(process.env.SHELL ?? '');
    if (!isShell(shell)) {
      throw new UsageError(`no completion for the shell "${shell || '(none)'}"`, {
        hint: `name one: ${this.config.bin} completion bash, or ${this.config.bin} completion zsh`,
      });
    }
    process.stdout.write(completionScript(shell, this.config.bin));
  }
}

function isShell(name: string): name is CompletionShell {
  return (COMPLETION_SHELLS as readonly string[]).includes(name);
}
