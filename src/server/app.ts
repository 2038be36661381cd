/**
 * `rp serve`'s HTTP server: fastify with zod schemas (validation and the OpenAPI document from one
 * source), a bounded body, a rate limit per token (per address without one), bearer-token
 * authentication, and handlers that call the same services as the CLI. This folder is the only
 * importer of fastify.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { MAX_BODY_BYTES } from '../core/api-requests.js';
import { bearerToken, hashToken } from '../core/tokens.js';
import type { HostUser } from '../host/identity.js';
import { rpVersion } from '../host/package-info.js';
import type { HostSession } from '../services/host-session.js';
import { tokenAuthenticator } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { errorBody, handleError } from './errors.js';
import { hostRoutes } from './routes-host.js';
import { jobRoutes } from './routes-jobs.js';

export const API_PREFIX = '/api/v1';

export interface ServerOptions {
  session: HostSession;
  /** Requests one token (or one address without a token) may make per `rateWindowMs`. */
  rateLimit: number;
  rateWindowMs: number;
}

export type Api = FastifyInstance;

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES, return503OnClosing: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(errorBody('not_found', `no such route: ${request.method} ${request.url}`));
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'rp API',
        description:
          "rp's job queue over HTTP. Every /api/v1 route but this document needs `Authorization: Bearer <token>` (rp token create); a request acts as the token's user.",
        version: rpVersion(),
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(rateLimit, {
    max: options.rateLimit,
    timeWindow: options.rateWindowMs,
    // Per token, so that one client's flood does not lock out others behind the same address.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization);
      return token === undefined ? `ip:${request.ip}` : `token:${hashToken(token)}`;
    },
  });
  const authenticate = tokenAuthenticator(options.session.rpHome, () =>
    options.session.clock.now(),
  );
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    `${API_PREFIX}/openapi.json`,
    { schema: { hide: true }, config: { rateLimit: false } },
    async () => app.swagger(),
  );
  // Who each request acts as: decided after the rate limit (a route-level onRequest hook, so it
  // runs after any hook here but preValidation) and before the body is validated, so that no
  // token is a 401 whatever the body.
  const users = new WeakMap<FastifyRequest, HostUser>();
  const userOf = async (request: FastifyRequest): Promise<HostUser> =>
    users.get(request) ?? authenticate(request);
  await app.register(
    async (api) => {
      api.addHook('preValidation', async (request) => {
        users.set(request, await authenticate(request));
      });
      const authenticate = userOf;
      jobRoutes(api.withTypeProvider<ZodTypeProvider>(), { ...options, authenticate });
      hostRoutes(api.withTypeProvider<ZodTypeProvider>(), { ...options, authenticate });
    },
    { prefix: API_PREFIX },
  );
  dashboardRoutes(app);
  return app;
}
