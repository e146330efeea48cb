import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { invalidArgument, type Logger } from '../common/index.js';

export interface RequestContext {
  req: IncomingMessage;
  /** Undefined on hijacked (Upgrade) requests: use `hijack` instead. */
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (path prefix), or the server's. */
  version: string;
  log: Logger;
  /** Present when the client sent `Upgrade: tcp` and the server handed us the raw socket. */
  upgrade?: { socket: Duplex; head: Buffer; body: Buffer };
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

/** A route table: paths like `/containers/{name}/start`; `{name:.*}` matches slashes too. */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(routes: Route[]): void {
    for (const r of routes) {
      const names: string[] = [];
      const source = r.path.replace(
        /\{(\w+)(?::([^}]+))?\}/g,
        (_m, name: string, pattern?: string) => {
          names.push(name);
          return `(${pattern ?? '[^/]+'})`;
        },
      );
      this.routes.push({ ...r, regex: new RegExp(`^${source}/?$`), names });
    }
  }

  /** The route for a method and path; `methodAllowed` false when the path exists with another method. */
  match(
    method: string,
    path: string,
  ): { route?: CompiledRoute; params: Record<string, string>; pathKnown: boolean } {
    let pathKnown = false;
    const m = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
    for (const wanted of m) {
      for (const r of this.routes) {
        const found = r.regex.exec(path);
        if (!found) continue;
        pathKnown = true;
        if (r.method !== wanted) continue;
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => {
          try {
            params[n] = decodeURIComponent(found[i + 1]!);
          } catch {
            throw invalidArgument(`invalid escape in path: ${path}`);
          }
        });
        return { route: r, params, pathKnown };
      }
    }
    return { params: {}, pathKnown };
  }
}
