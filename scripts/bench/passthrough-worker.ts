/**
 * The benchmark's baseline: the least a Workers proxy can do. No auth, no limits, no headers touched:
 * every request is forwarded to ORIGIN_URL and the response streamed back. Run by `wrangler dev` in the same
 * runtime as the gateway, so the gap between the two is what the gateway itself costs.
 */
interface Env {
  ORIGIN_URL: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    // A tiny route of its own, so readiness checks do not reach (or depend on) the origin.
    if (url.pathname === "/__ready") return new Response("ok");
    return fetch(new Request(new URL(url.pathname + url.search, env.ORIGIN_URL), request));
  },
};
