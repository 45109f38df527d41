// The unit lane type-checks pure src modules on Node's types. The one Workers type they mention: the ASSETS
// binding's Fetcher (src/config.ts), as much of it as src uses.
type Fetcher = { fetch(input: Request | URL | string, init?: RequestInit): Promise<Response> };
