import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { systemClock } from '../../host/clock.js';
import { currentUser } from '../../host/identity.js';
import { revokeToken } from '../../services/api-tokens.js';
import { rpHomeFromEnv } from '../../services/host-files.js';

export default class TokenRevoke extends BaseCommand {
  static override description =
    'Revoke one of your API tokens, by id (tok_…) or name: requests with it are refused from now on.';

  static override examples = ['<%= config.bin %> token revoke tok_1a2b3c4d'];

  static override args = {
    id: Args.string({ description: 'the token id, or its name', required: true }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'print the revoked token as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TokenRevoke);
    const now = systemClock.now();
    const revoked = await revokeToken(rpHomeFromEnv(process.env), currentUser(), args.id, now);
    this.log(
      flags.json ? JSON.stringify(revoked, null, 2) : `revoked ${revoked.id} (${revoked.name})`,
    );
  }
}
