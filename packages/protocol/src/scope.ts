/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const scopeToken = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function isScopeToken(value: string): boolean {
  return scopeToken.test(value);
}

/**
 * Splits a space-delimited scope string into unique tokens, keeping first-seen order.
 * Returns `undefined` when any token has characters RFC 6749 §3.3 does not allow.
 */
export function parseScope(value: string): string[] | undefined {
  const tokens = value.split(' ').filter((token) => token !== '');
  if (!tokens.every(isScopeToken)) return undefined;
  return [...new Set(tokens)];
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}
