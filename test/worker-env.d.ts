// Types for tests that run inside workerd: the bindings the worker gets, and the main module's exports.
type GatewayBindings = import("../src/config").Bindings;

declare namespace Cloudflare {
  interface Env extends GatewayBindings {}
  interface GlobalProps {
    mainModule: typeof import("../src/index");
  }
}
