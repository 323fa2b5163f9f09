const token = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const quoted = /"((?:[^"\\]|\\.)*)"/y;
const space = /[ \t]*/y;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

function read(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/**
 * Parses a `WWW-Authenticate` value into challenges (RFC 9110 §11.6.1). Lenient: an
 * unparseable tail ends parsing instead of throwing, because this only decides whether to
 * renew a token, never whether to trust anything.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (): void => {
    i += read(space, header, i)?.[0].length ?? 0;
  };
  while (i < header.length) {
    skip();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const scheme = read(token, header, i);
    if (scheme === null) break;
    i += scheme[0].length;
    const challenge: Challenge = { scheme: scheme[0].toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip();
      const start = i;
      const name = read(token, header, i);
      if (name === null) break;
      i += name[0].length;
      skip();
      if (header[i] !== '=') {
        // The next challenge's scheme (or a token68): rewind and let the outer loop decide.
        i = start;
        break;
      }
      i++;
      skip();
      const q = read(quoted, header, i);
      let value: string;
      if (q !== null) {
        value = (q[1] ?? '').replace(/\\(.)/g, '$1');
        i += q[0].length;
      } else {
        const t = read(token, header, i);
        value = t?.[0] ?? '';
        i += value.length;
      }
      challenge.params[name[0].toLowerCase()] = value;
      skip();
      if (header[i] === ',') i++;
    }
  }
  return challenges;
}

/** Whether a challenge of `scheme` (lowercase) carries `error="<error>"`. */
export function hasChallengeError(
  header: string | null,
  scheme: 'bearer' | 'dpop',
  error: string,
): boolean {
  if (header === null) return false;
  return parseChallenges(header).some((c) => c.scheme === scheme && c.params['error'] === error);
}

/** RFC 6750 §3.1: a `Bearer` challenge with `error="invalid_token"`. */
export function isBearerInvalidToken(header: string | null): boolean {
  return hasChallengeError(header, 'bearer', 'invalid_token');
}
