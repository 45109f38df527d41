import { html, raw } from "hono/html";

/** Where the worker serves Scalar's standalone bundle (from the pinned @scalar/api-reference package). */
export const REFERENCE_SCRIPT_PATH = "/docs/assets/api-reference.js";
/** The few lines that start the reference from the page's JSON configuration (no inline script needed). */
export const REFERENCE_BOOT_PATH = "/docs/assets/boot.js";

/** Runs in the browser: reads the configuration block and mounts Scalar into #reference. */
export const REFERENCE_BOOT_SCRIPT = `"use strict";
(function () {
  var block = document.getElementById("reference-config");
  var config = JSON.parse(block.textContent);
  window.Scalar.createApiReference("#reference", config);
})();
`;

interface ReferenceOptions {
  title: string;
  /** The API key to fill in for "Try it" (the portal's page for a developer's own key), if any. */
  apiKey?: string;
}

/**
 * Scalar's configuration. Everything that would reach a third party is off: no web fonts from Scalar's CDN,
 * no Scalar proxy, no telemetry, no "open in client" button (it posts the document to client.scalar.com), and
 * the key is not kept in the browser's storage. The page's CSP blocks any other origin on top of that.
 */
function configOf(options: ReferenceOptions) {
  return {
    url: "/openapi.json",
    withDefaultFonts: false,
    hideClientButton: true,
    telemetry: false,
    persistAuth: false,
    showDeveloperTools: "never",
    agent: { disabled: true },
    mcp: { disabled: true },
    ...(options.apiKey
      ? {
          authentication: {
            preferredSecurityScheme: "apiKey",
            securitySchemes: { apiKey: { value: options.apiKey } },
          },
        }
      : {}),
  };
}

/** JSON safe inside a <script> data block: no "</script>" or "<!--" can be formed. */
const scriptSafeJson = (value: unknown) =>
  JSON.stringify(value).replaceAll("<", "\\u003c").replaceAll(">", "\\u003e").replaceAll("&", "\\u0026");

/**
 * The API reference page: Scalar's bundle served by this worker, configured by a JSON block (a data block
 * runs nothing, so the CSP needs no inline script at all).
 */
export function referencePage(options: ReferenceOptions) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>${options.title}</title>
  </head>
  <body>
    <div id="reference"></div>
    <script id="reference-config" type="application/json">${raw(scriptSafeJson(configOf(options)))}</script>
    <script src="${REFERENCE_SCRIPT_PATH}"></script>
    <script src="${REFERENCE_BOOT_PATH}"></script>
  </body>
</html>`;
}

/**
 * The CSP of a page that shows the reference. Scripts only from this origin; Scalar injects its styles at run
 * time, hence 'unsafe-inline' for styles alone (a style cannot send anything: img-src and font-src are this
 * origin). connect-src 'self': "Try it" reaches this gateway only, so a key on the page cannot leave it.
 */
export const REFERENCE_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  fontSrc: ["'self'", "data:"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  workerSrc: ["'self'", "blob:"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/** REFERENCE_CSP as a Content-Security-Policy header value. */
export const REFERENCE_CSP_HEADER = Object.entries(REFERENCE_CSP)
  .map(
    ([directive, sources]) =>
      `${directive.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)} ${sources.join(" ")}`,
  )
  .join("; ");
