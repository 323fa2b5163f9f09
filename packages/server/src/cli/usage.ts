import { flagSynopsis, settingsHelp } from '../config/docs.js';
import { paths } from '../config/paths.js';

/** Thrown for a malformed command line: printed with the usage text, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const serveFlags = flagSynopsis('serve', '        ');

export const usage = `Usage: tessera <command> [options]

Commands:
  serve ${serveFlags.join('\n        ')}
      Serve the authorization server (default http://127.0.0.1:8080, data in ./${paths.defaultDataDir}).
  clients create --name NAME [--scope "a b"] [--audience URI]... [--token-ttl SECONDS]
                 [--auth-method client_secret_basic|client_secret_post|any]
                 [--auth-method private_key_jwt --jwks-file F | --jwks-uri URL]
                 [--auth-method tls_client_auth --tls-subject-dn DN | --tls-san-dns NAME]
                 [--auth-method self_signed_tls_client_auth --certificate-file F]
                 [--auth-method federated --federated-issuer URL --federated-subject SUB
                  [--federated-audience AUD] [--federated-jwks-uri URL]]
                 [--dpop-bound] [--profile fapi2] [--claim KEY=VALUE]... [--claims-file FILE]
                 [--token-quota N/PERIOD[,N/PERIOD]...] [--reuse-tokens]
                 [--client-id ID --client-secret SECRET] [--json]
      Register a client. Its secret is printed exactly once and cannot be recovered.
  clients update ID [--name NAME] [--scope "a b"] [--audience URI]... [--token-ttl SECONDS]
                 [--auth-method M and its options as above] [--profile fapi2|none]
                 [--token-quota N/PERIOD[,N/PERIOD]...|none] [--reuse-tokens|--no-reuse-tokens]
                 [--claim KEY=VALUE]... [--unset-claim KEY]... [--claims-file FILE] [--json]
      Change a client; a client held to fapi2 must still meet FAPI 2.0. PERIOD is s, min, h
      or d (e.g. 10/s,5000/d); none clears the quota. --claim adds or replaces one claim put
      into every token of the client (VALUE is JSON when it parses as JSON, else a string),
      --unset-claim removes one, --claims-file replaces them all.
  clients list [--json]
  clients show ID [--json]
  clients disable ID | enable ID | delete ID [--json]
  clients rotate-secret ID [--grace SECONDS] [--json]
      Issue a new secret (shown once); the old one keeps working for the grace period
      (default 86400 s). A client holds at most two live secrets.
  keys list [--json]
      Every key with its state and where it lives (store: sealed or pkcs11, token label).
  keys rotate [--alg ALG] [--propagation SECONDS] [--json]
              [--signing-keys sealed|pkcs11 --pkcs11-module PATH --pkcs11-token-label LABEL]
      Publish a new signing key now; it starts signing after the propagation delay
      (default: the JWKS max-age). The old key stays published until its tokens expire.
      With pkcs11 (or TESSERA_SIGNING_KEYS) the key is generated inside the token.
  audit list [--limit N] [--actor WHO] [--json]
      Admin changes, newest first (who, from where, what, when; never a secret). --actor
      keeps one actor's: a client_id, a person's email or subject, or cli:USER.
  tenants create NAME [--issuer URL] [--preset NAME] [--token-ttl SECONDS]
                 [--signing-alg ALG] [--default-audience URI]
                 [--auth-max-failures-per-client N] [--auth-max-failures-per-address N]
                 [--auth-failure-window SECONDS] [--auth-lock-seconds SECONDS]
                 [--token-hook URL|none] [--token-hook-timeout MS]
                 [--token-hook-failure deny|allow] [--json]
      Add a tenant: its own issuer (default <issuer>/t/NAME, served under /t/NAME/ and on
      the hosts --tenant-host maps to it), keys, clients, revocations and audit trail. Its
      first signing key is made by the server on the tenant's first request. Unset lockout
      limits and hook are the server's; --token-hook none: no hook at this tenant. Its own
      hook is signed with the key tenants hook-secret prints (TESSERA_TOKEN_HOOK_SECRET).
  tenants update NAME [--issuer URL|none] [--preset NAME|none] [--token-ttl SECONDS|none]
                 [--signing-alg ALG|none] [--default-audience URI|none]
                 [--auth-max-failures-per-client N|inherit] [… the other limits N|inherit]
                 [--token-hook URL|none|inherit] [--token-hook-timeout MS|inherit]
                 [--token-hook-failure deny|allow|inherit] [--json]
      Change a tenant's settings; none (for a limit or the hook: inherit) puts one back to
      the server's. Running servers pick up tenant changes within a second.
  tenants hook-secret NAME [--json]
      The HMAC key of the tenant's own token hook, derived from TESSERA_TOKEN_HOOK_SECRET:
      give it to that tenant's receiver only.
  tenants list [--json] | tenants show NAME [--json]
  tenants delete NAME [--force] [--json]
      Remove a tenant with its keys and revocations (its audit trail is kept); refused while
      it has clients unless --force (which deletes them too).
  operators add EMAIL --role viewer|operator|admin | operators list | operators remove EMAIL [--json]
      People given a console role by Tessera itself (matched on their verified email),
      besides the roles their identity provider's groups map to (--console-role). With
      --tenant NAME the role is on that tenant only; list without it shows every list.
  migrate
      Apply pending database migrations (serve does this on start).
  migrate-store --from sqlite:PATH --to postgres://URL
      Copy everything into an empty database (same TESSERA_KEK afterwards).
  backup --out FILE [--force]
      Consistent online copy of the SQLite database (secrets only as hashes, keys only sealed;
      keys in a PKCS#11 token are not in it: back the token up with the HSM's own tools).
  restore FILE [--force]
      Bring a backup back (stop the servers first; needs the same key-encryption key).
  kek rotate | kek prune
      Seal every private key under a new key-encryption key; then destroy the old one.
      Keys in a PKCS#11 token are not sealed and stay where they are.
  config check [--config FILE]
      Validate the configuration file and the environment together; exit 1 naming each bad
      setting.

  events tail [--since ID]
      Print events as they are committed, one JSON line each (the webhook's body), from the
      newest on, or after event ID (--since 0: from the oldest kept). Stop with Ctrl-C.

The clients, keys and audit commands take --tenant NAME (default: the default tenant, the
server's own configuration); an unknown tenant is an error (exit 1).

Every command takes --database URL (default sqlite:./${paths.defaultDataDir}/${paths.databaseFile}, or DATABASE_URL) and
works on the database directly, whether or not a server is running. Every command takes
--config FILE (or TESSERA_CONFIG): a TOML file of the settings below, named in snake_case.

Settings (flag, environment variable; a flag wins over the variable, the variable over the
configuration file, the file over the default):
${settingsHelp()}`;
