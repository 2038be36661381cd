/**
 * The web dashboard: three static files from the package's dashboard/ folder, served as they are
 * (no build step, no CDN). The page asks the API for everything it shows, with the user's token.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../host/package-info.js';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

export function dashboardRoutes(app: FastifyInstance): void {
  for (const [url, { file, type }] of Object.entries(FILES)) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      const body = await readFile(new URL(`dashboard/${file}`, PACKAGE_ROOT));
      return (
        reply
          .type(type)
          .header('cache-control', 'no-cache')
          // Everything the page loads comes from this server.
          .header('content-security-policy', "default-src 'self'; img-src 'self' data:")
          .send(body)
      );
    });
  }
}
