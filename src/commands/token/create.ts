import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { DEFAULT_TOKEN_EXPIRY, tokenExpiry } from '../../core/tokens.js';
import { systemClock } from '../../host/clock.js';
import { currentUser } from '../../host/identity.js';
import { createToken } from '../../services/api-tokens.js';
import { rpHomeFromEnv } from '../../services/host-files.js';

export default class TokenCreate extends BaseCommand {
  static override description =
    "Create a token for rp serve's HTTP API and dashboard: it acts as you, with your rights. It is printed once and only its hash is kept.";

  static override examples = [
    '<%= config.bin %> token create --name laptop',
    '<%= config.bin %> token create --expires 7d --json',
  ];

  static override flags = {
    name: Flags.string({ description: 'what it is for (default: "token")', default: 'token' }),
    expires: Flags.string({
      description: 'when it stops working: 90d, 12h, 1w, ... or never',
      default: DEFAULT_TOKEN_EXPIRY,
      helpValue: '<LENGTH>',
    }),
    json: Flags.boolean({
      description: 'print {token, id, name, expiresAt} as JSON',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TokenCreate);
    const now = systemClock.now();
    const expiresAt = tokenExpiry(flags.expires, now);
    const rpHome = rpHomeFromEnv(process.env);
    const created = await createToken({
      rpHome,
      user: currentUser(),
      name: flags.name,
      expiresAt,
      now,
    });
    if (flags.json) {
      const { token, id, name } = created;
      this.log(JSON.stringify({ token, id, name, expiresAt: created.expiresAt }, null, 2));
      return;
    }
    this.log(created.token);
    const until = created.expiresAt === null ? 'never expires' : `expires ${created.expiresAt}`;
    process.stderr.write(
      `token ${created.id} (${created.name}) ${until}; it is shown only this once: keep it secret\n`,
    );
  }
}
