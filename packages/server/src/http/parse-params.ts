import { OAuthError } from '@tessera/protocol';

/** Request parameters after parsing: one value per name (duplicates are refused). */
export type Params = Map<string, string>;

const invalid = (description: string) => new OAuthError('invalid_request', description);

/**
 * Adds a parameter, refusing repeats (RFC 6749 §3.2: "Request and response parameters MUST
 * NOT be included more than once"). Empty values count as omitted (§3.1), but still count as
 * a repeat, since two occurrences are ambiguous either way.
 */
function add(params: Params, seen: Set<string>, name: string, value: string): void {
  if (seen.has(name)) throw invalid(`Parameter ${printable(name)} is included more than once`);
  seen.add(name);
  if (value !== '') params.set(name, value);
}

/** A name safe to echo in an error description. */
function printable(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : 'name';
}

export function parseUrlEncoded(body: string): Params {
  const params: Params = new Map();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body)) add(params, seen, name, value);
  return params;
}

export function parseJson(body: string): Params {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw invalid('The request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('The JSON request body must be an object');
  }
  const params: Params = new Map();
  const seen = new Set<string>();
  // JSON.parse keeps the last of repeated names; form and multipart refuse repeats, so must this.
  const repeated = repeatedTopLevelKey(body, Object.keys(value).length);
  if (repeated !== undefined)
    throw invalid(`Parameter ${printable(repeated)} is included more than once`);
  for (const [name, item] of Object.entries(value)) {
    if (item === null || item === undefined) continue;
    if (typeof item === 'number' || typeof item === 'boolean')
      add(params, seen, name, String(item));
    else if (typeof item === 'string') add(params, seen, name, item);
    else throw invalid(`Parameter ${printable(name)} must be a string`);
  }
  return params;
}

/**
 * The first name the top-level object of `json` (already valid JSON) repeats, or undefined.
 * One pass over the text counting top-level members; only when there are more members than
 * distinct names (`distinct`, from the parsed object) are the names decoded to find which.
 */
export function repeatedTopLevelKey(json: string, distinct: number): string | undefined {
  const keys: Array<[start: number, end: number]> = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; json.charCodeAt(i) !== 0x22; i++) if (json.charCodeAt(i) === 0x5c) i++;
      if (depth === 1 && expectKey) {
        keys.push([start, i + 1]);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    else if (c === 0x2c /* , */ && depth === 1) expectKey = true;
  }
  if (keys.length <= distinct) return undefined;
  const names = new Set<string>();
  for (const [start, end] of keys) {
    const name = JSON.parse(json.slice(start, end)) as string;
    if (names.has(name)) return name;
    names.add(name);
  }
  return undefined;
}

export async function parseMultipart(body: Buffer, contentType: string): Promise<Params> {
  let form: FormData;
  try {
    form = await new Response(body as unknown as BodyInit, {
      headers: { 'content-type': contentType },
    }).formData();
  } catch {
    throw invalid('The multipart request body is malformed');
  }
  const params: Params = new Map();
  const seen = new Set<string>();
  for (const [name, value] of form) {
    if (typeof value !== 'string') throw invalid(`Parameter ${printable(name)} must not be a file`);
    add(params, seen, name, value);
  }
  return params;
}

export type BodyType = 'urlencoded' | 'multipart' | 'json';

/** The media type of each body type, for error messages. */
export const mediaTypes: Readonly<Record<BodyType, string>> = {
  urlencoded: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
  json: 'application/json',
};

/** The body type a Content-Type header names, or undefined when it is none we accept. */
export function bodyTypeOf(contentType: string | undefined): BodyType | undefined {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  switch (mediaType) {
    case 'application/x-www-form-urlencoded':
      return 'urlencoded';
    case 'multipart/form-data':
      return 'multipart';
    case 'application/json':
      return 'json';
    default:
      return undefined;
  }
}

/** Parses a request body of an accepted type into {@link Params}. */
export async function parseParams(
  type: BodyType,
  body: Buffer,
  contentType: string,
): Promise<Params> {
  switch (type) {
    case 'urlencoded':
      return parseUrlEncoded(decodeUtf8(body));
    case 'json':
      return parseJson(decodeUtf8(body));
    case 'multipart':
      return parseMultipart(body, contentType);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw invalid('The request body is not valid UTF-8');
  }
}
