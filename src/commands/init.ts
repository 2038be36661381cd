import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { memoryFlag, shmFlag } from '../cli/flags.js';
import { currentUser } from '../host/identity.js';
import { initProject } from '../services/init-project.js';

export default class Init extends BaseCommand {
  static override description =
    'Turn the current folder into an rp project: docker/ (Dockerfile, hooks, bashhook), .rp/ (defaults, mounts), .cache/ and output/.';

  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --gpu 2 --cpu 8 --mem 32',
    '<%= config.bin %> init --base ubuntu:24.04 --name my-model',
  ];

  static override flags = {
    base: Flags.string({
      description:
        'base image for docker/Dockerfile (default: an NVIDIA CUDA runtime image with python3)',
    }),
    cpu: Flags.integer({
      description: "default number of CPU cores for jobs (default: 4, at most the host's cores)",
      min: 1,
    }),
    gpu: Flags.integer({
      description: 'default number of GPUs for jobs (default: 1, or 0 on a host without GPUs)',
      min: 0,
    }),
    mem: memoryFlag({
      description: 'default memory for jobs, in GB (default: 16, less on a smaller host)',
    }),
    shm: shmFlag({ description: 'default shared memory size (/dev/shm), e.g. 2g' }),
    name: Flags.string({ description: 'project name (default: the folder name, normalised)' }),
    force: Flags.boolean({
      description: 'write the scaffold files again over an existing project',
      default: false,
    }),
    json: Flags.boolean({ description: 'print the result as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Init);
    const result = await initProject({
      dir: process.cwd(),
      user: currentUser(),
      base: flags.base,
      cpu: flags.cpu,
      gpus: flags.gpu,
      memory: flags.mem,
      shm: flags.shm,
      name: flags.name,
      force: flags.force,
    });
    if (flags.json) {
      this.log(JSON.stringify(result, null, 2));
      return;
    }
    this.log(`rp project "${result.info.name}" in ${result.root}`);
    for (const file of result.written) this.log(`  wrote ${file}`);
    for (const file of result.kept) this.log(`  kept  ${file}`);
    for (const note of result.notes) this.log(`note: ${note}`);
    const { cpu, gpus, memory, docker_shm } = result.info;
    this.log(
      `defaults: ${cpu} CPU, ${gpus} GPU, ${memory} GB memory, ${docker_shm} shm (.rp/info.json)`,
    );
    this.log('next: edit docker/ to set up the image, then "rp build" or "rp run --script=..."');
  }
}
