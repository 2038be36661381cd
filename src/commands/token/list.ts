import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { systemClock } from '../../host/clock.js';
import { currentUser } from '../../host/identity.js';
import { listTokens } from '../../services/api-tokens.js';
import { rpHomeFromEnv } from '../../services/host-files.js';
import { renderTokens } from '../../ui/tokens.js';

export default class TokenList extends BaseCommand {
  static override description =
    'List your API tokens (never the tokens themselves: only their ids).';

  static override examples = [
    '<%= config.bin %> token list',
    '<%= config.bin %> token list --json',
  ];

  static override flags = {
    json: Flags.boolean({
      description: 'print [{id, name, createdAt, expiresAt, expired}] as JSON',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TokenList);
    const tokens = await listTokens(rpHomeFromEnv(process.env), currentUser(), systemClock.now());
    if (flags.json) {
      this.log(JSON.stringify(tokens, null, 2));
      return;
    }
    if (tokens.length === 0) {
      process.stderr.write('you have no tokens; create one with "rp token create"\n');
      return;
    }
    for (const line of renderTokens(tokens)) this.log(line);
  }
}
