/**
 * Distribution-spec errors. Clients read the `code` of `{"errors":[{code,message,detail}]}`,
 * so each code keeps the status the reference registry gives it; handlers throw a
 * RegistryError and the server writes it in one place (server.ts).
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'manifest references a manifest or blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
  RANGE_INVALID: [416, 'invalid content range'],
  PAGINATION_NUMBER_INVALID: [400, 'invalid number of results requested'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'The operation is unsupported.'],
  TOOMANYREQUESTS: [429, 'too many requests'],
  UNKNOWN: [500, 'unknown error'],
} as const satisfies Record<string, readonly [number, string]>;

export type RegistryErrorCode = keyof typeof ERROR_CODES;

export class RegistryError extends Error {
  readonly status: number;

  constructor(
    readonly code: RegistryErrorCode,
    message?: string,
    readonly detail?: unknown,
    opts: { status?: number; cause?: unknown } = {},
  ) {
    super(
      message ?? ERROR_CODES[code][1],
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.name = 'RegistryError';
    this.status = opts.status ?? ERROR_CODES[code][0];
  }

  /** The JSON body clients parse. */
  body(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    const e: { code: string; message: string; detail?: unknown } = {
      code: this.code,
      message: this.message,
    };
    if (this.detail !== undefined) e.detail = this.detail;
    return { errors: [e] };
  }
}

export const regErr = (
  code: RegistryErrorCode,
  message?: string,
  detail?: unknown,
  status?: number,
): RegistryError => new RegistryError(code, message, detail, { status });
