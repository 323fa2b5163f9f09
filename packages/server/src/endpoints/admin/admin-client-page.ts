/**
 * `GET /admin/v1/clients?limit=&cursor=&q=` (issue 24): keyset pages over a registry of any
 * size. The cursor is opaque to callers: base64url of the last client's `[created_at,
 * client_id]`, where the next page starts (Store.listClientPage).
 */
import { OAuthError } from '@tessera/protocol';
import type { ClientPageQuery } from '../../store/contract.js';
import { int, object } from '../endpoint.js';

/** Without `limit`, a page of this many: every client of a registry up to that size, as before. */
export const defaultPageSize = 1_000;
const maxPageSize = 1_000;
const maxQueryLength = 200;

export const clientPageQuery = object(
  {},
  {
    limit: { ...int, minimum: 1, maximum: maxPageSize },
    cursor: { type: 'string', maxLength: 400 },
    q: { type: 'string', maxLength: maxQueryLength },
  },
);

export function encodeCursor(client: { createdAt: number; clientId: string }): string {
  return Buffer.from(JSON.stringify([client.createdAt, client.clientId])).toString('base64url');
}

function decodeCursor(cursor: string): ClientPageQuery['after'] {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      Number.isInteger(decoded[0]) &&
      typeof decoded[1] === 'string'
    )
      return { createdAt: decoded[0] as number, clientId: decoded[1] };
  } catch {
    // reported below
  }
  throw new OAuthError('invalid_request', 'cursor is not one this server returned');
}

/** The query of a listing request, checked (query values may arrive as text). */
export function clientPageParams(query: Record<string, unknown> | undefined): ClientPageQuery {
  const given = query?.limit;
  const limit = given === undefined || given === '' ? defaultPageSize : Number(given);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize)
    throw new OAuthError('invalid_request', `limit must be an integer from 1 to ${maxPageSize}`);
  const cursor = query?.cursor;
  if (cursor !== undefined && typeof cursor !== 'string')
    throw new OAuthError('invalid_request', 'cursor must be given once');
  const q = query?.q;
  if (q !== undefined && (typeof q !== 'string' || q.length > maxQueryLength))
    throw new OAuthError(
      'invalid_request',
      `q must be one text of at most ${maxQueryLength} characters`,
    );
  return {
    limit,
    after: cursor === undefined || cursor === '' ? undefined : decodeCursor(cursor),
    q: q === undefined || q === '' ? undefined : q,
  };
}
