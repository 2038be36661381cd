import { Command, Flags } from '@oclif/core';

/** One command with one flag: parsing and dispatch, nothing else. */
export default class Hello extends Command {
  static description = 'print a greeting';

  static flags = {
    name: Flags.string({ description: 'whom to greet', default: 'world' }),
  };

  async run() {
    const { flags } = await this.parse(Hello);
    this.log(`hello ${flags.name}`);
  }
}
