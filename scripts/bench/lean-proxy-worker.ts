/**
 * A leaner baseline than the bare proxy: the request's method, headers and body handed to fetch() as an init,
 * so no `new Request(url, request)`. That copy clones `request.cf` (through JSON) and every header, which under
 * callgrind was a quarter of the bare proxy's instructions (docs/BENCHMARK.md); the gateway makes no such copy
 * either. Row 2b of the benchmark, at one concurrency: what the gateway costs against the least a proxy does.
 */
interface Env {
  ORIGIN_URL: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = request.url;
    const pathWithQuery = url.slice(url.indexOf("/", url.indexOf("://") + 3));
    if (pathWithQuery === "/__ready") return new Response("ok");
    return fetch(`${env.ORIGIN_URL}${pathWithQuery}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
  },
};
