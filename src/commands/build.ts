import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { connectDocker } from '../docker/engine.js';
import { currentUser } from '../host/identity.js';
import { buildProjectImage, imagesInQueue } from '../services/build-image.js';
import { rpHomeFromEnv } from '../services/host-files.js';
import { loadProject } from '../services/project.js';
import { createBuildProgress } from '../ui/build-progress.js';

export default class Build extends BaseCommand {
  static override description =
    "Build the project's image: docker/Dockerfile, hook_pre_useradd, your user (same name, uid and gid), hook_post_useradd and bashhook.sh. Nothing is built when nothing changed.";

  static override examples = ['<%= config.bin %> build', '<%= config.bin %> build --json'];

  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'show no build progress', default: false }),
    json: Flags.boolean({ description: 'print the result as JSON on stdout', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Build);
    const project = await loadProject(process.cwd());
    const engine = await connectDocker();
    await engine.ping();
    const reporter = await createBuildProgress({ stream: process.stderr, quiet: flags.quiet });
    const result = await buildProjectImage({
      project,
      user: currentUser(),
      engine,
      reporter,
      imagesInUse: () => imagesInQueue(rpHomeFromEnv(process.env)),
    });
    if (flags.json) this.log(JSON.stringify(result, null, 2));
    else this.log(result.reference);
  }
}
