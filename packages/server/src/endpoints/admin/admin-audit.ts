import type { AuditEntry } from '../../store/contract.js';
import type { EndpointRequest } from '../endpoint.js';

/**
 * What an audit entry records about who made an admin API change: the actor (machine client
 * or person, with the person's issuer, subject and email), the source address and the
 * request id, so an entry leads to its log lines.
 */
export function auditAbout(
  request: EndpointRequest,
): Pick<AuditEntry, 'actor' | 'person' | 'sourceAddress' | 'requestId'> {
  const caller = request.caller!;
  return { actor: caller.actor, person: caller.person ?? null, ...requestOrigin(request) };
}

/** Where a request came from and its id, for an audit entry. */
export function requestOrigin(
  request: Pick<EndpointRequest, 'host' | 'raw'>,
): Pick<AuditEntry, 'sourceAddress' | 'requestId'> {
  return {
    sourceAddress: request.host?.ip ?? request.raw.socket.remoteAddress ?? null,
    requestId: request.host?.id ?? null,
  };
}
