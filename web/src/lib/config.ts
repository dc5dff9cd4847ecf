// The server's runtime settings, injected into index.html as <meta name="portal-config"> (portal/web.py).
export interface PortalConfig {
  /** The public `X-API-Key` for /v1/authentication/lookup|request|verify (public by design). */
  public_api_key: string;
  /** The server logs each new login code to its console (a local install). */
  console_codes: boolean;
  version: string;
  /** The page request carried a session cookie (maybe stale): only then ask who is signed in. */
  has_session: boolean;
}

function readConfig(): PortalConfig {
  const fallback: PortalConfig = {
    public_api_key: "",
    console_codes: false,
    version: "dev",
    has_session: true,
  };
  const tag = document.querySelector<HTMLMetaElement>('meta[name="portal-config"]');
  if (!tag) return fallback;
  try {
    return { ...fallback, ...(JSON.parse(tag.content) as Partial<PortalConfig>) };
  } catch {
    return fallback;
  }
}

export const config: PortalConfig = readConfig();
