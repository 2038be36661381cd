import { BaseCommand } from '../cli/base-command.js';
import { completionCommands } from '../cli/completion-commands.js';
import { complete } from '../core/completion.js';
import { currentUser } from '../host/identity.js';
import { completionValues } from '../services/completion-values.js';
import { rpHomeFromEnv } from '../services/host-files.js';
import { remotesFilePath } from '../services/remotes.js';

/** What the completion scripts call on every Tab: the candidates, one per line. */
export default class Complete extends BaseCommand {
  static override hidden = true;
  static override strict = false;
  static override description =
    'Print what may follow the words after "rp" (the last one being completed), one per line; used by the scripts of "rp completion".';

  static override examples = ['<%= config.bin %> complete -- kill ""'];

  async run(): Promise<void> {
    const typed = this.argv[0] === '--' ? this.argv.slice(1) : this.argv;
    const answer = complete(completionCommands(this.config.commands), typed);
    const candidates =
      answer.kind === 'words'
        ? answer.words
        : answer.kind === 'values'
          ? await completionValues(answer.of, answer.prefix, {
              rpHome: rpHomeFromEnv(process.env),
              remotesFile: remotesFilePath(process.env),
              user: currentUser(),
            })
          : [];
    if (candidates.length > 0) process.stdout.write(`${candidates.join('\n')}\n`);
  }
}
