export { createHttpServer, startHttpServer, DEFAULT_BODY_LIMIT_BYTES, type HttpServerDeps, type RunningHttpServer } from './server';
export { InsecureBindError } from './auth';
export type { MailboxHistorySource } from './api-routes';
