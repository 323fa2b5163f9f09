import { basicAuthorization, postForm } from './tessera.js';

/** Gets an access token with client_secret_basic; throws with the server's answer otherwise. */
export async function getToken(
  url: string,
  client: { clientId: string; clientSecret: string },
  params: Record<string, string> = {},
): Promise<string> {
  const result = await postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials', ...params },
    { authorization: basicAuthorization(client.clientId, client.clientSecret) },
  );
  if (result.status !== 200)
    throw new Error(`token request failed: ${result.status} ${result.text}`);
  return (result.body as { access_token: string }).access_token;
}
