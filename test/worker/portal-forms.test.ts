import { describe, expect, it } from "vitest";
import { gatewayWith, portalClient, portalDeveloper, portalForm } from "./support";

async function formToken(client: ReturnType<typeof portalClient>, path: string): Promise<string> {
  return /name="_csrf" value="([^"]+)"/.exec(await (await client.fetch(path)).text())?.[1] ?? "";
}

/** The `<input>` tag of field `id` in `html`. */
const inputTag = (html: string, id: string) =>
  new RegExp(`<input[^>]*id="${id}"[^>]*>`).exec(html)?.[0] ?? "";

describe("portal forms: errors in plain words, next to the field, focus on the first", () => {
  it("an empty login form names what to enter and focuses the email field", async () => {
    const client = portalClient();
    const token = await formToken(client, "/portal/login");
    const response = await client.fetch("/portal/login", {
      method: "POST",
      form: { _csrf: token, email: "", password: "" },
    });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).not.toMatch(/Too small|expected string|Invalid/);
    expect(html).toContain("Enter the email address you signed up with");
    expect(html).toContain("Enter your password.");
    expect(inputTag(html, "email")).toContain("autofocus");
    expect(inputTag(html, "password")).not.toContain("autofocus");
    expect(inputTag(html, "email")).toContain('aria-describedby="email-error"');
  });

  it("a short sign-up password says how long it must be and takes the focus", async () => {
    const client = portalClient();
    const token = await formToken(client, "/portal/signup");
    const response = await client.fetch("/portal/signup", {
      method: "POST",
      form: { _csrf: token, email: "someone@example.com", password: "short" },
    });
    const html = await response.text();
    expect(html).toContain("Choose a password of at least 10 characters.");
    expect(inputTag(html, "password")).toContain("autofocus");
    expect(inputTag(html, "email")).not.toContain("autofocus");
  });

  it("a key without a name focuses the name field", async () => {
    const { client } = await portalDeveloper();
    const response = await portalForm(client, "/portal/keys", { name: " ", expiresOn: "" });
    expect(response.status).toBe(400);
    expect(inputTag(await response.text(), "name")).toContain("autofocus");
  });
});

describe("portal: unknown paths", () => {
  it("answer an HTML 404 page under /portal, signed in or not", async () => {
    for (const client of [portalClient(), (await portalDeveloper()).client]) {
      const response = await client.fetch("/portal/no-such-page");
      expect(response.status).toBe(404);
      expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain("Error 404");
      expect(html).toContain("Back to the portal");
    }
  });

  it("stay problem+json under /portal/api", async () => {
    const response = await portalClient().fetch("/portal/api/no-such-route");
    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toContain("application/problem+json");
  });
});

describe("portal branding", () => {
  it("shows the owner's name, logo, accent colour and support address from the config", async () => {
    const response = await gatewayWith(
      {
        PORTAL_NAME: "Widget Co. developers",
        PORTAL_LOGO_URL: "https://cdn.widget.example/logo.svg",
        PORTAL_ACCENT_COLOR: "#0f766e",
        SUPPORT_EMAIL: "help@widget.example",
      },
      "/portal",
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("<title>Home · Widget Co. developers</title>");
    expect(html).toContain('src="https://cdn.widget.example/logo.svg"');
    expect(html).toContain(":root{--brand:#0f766e");
    expect(html).toContain('href="mailto:help@widget.example"');
    // The logo's origin may serve images, nothing else.
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toMatch(/img-src [^;]*https:\/\/cdn\.widget\.example/);
    expect(csp).not.toMatch(/script-src [^;]*widget/);
  });

  it("refuses a colour or logo that could inject markup: a configuration error, not a page", async () => {
    for (const overrides of [
      { PORTAL_ACCENT_COLOR: "red;}</style><script>alert(1)</script>" },
      { PORTAL_LOGO_URL: 'javascript:alert(1)"' },
    ]) {
      const response = await gatewayWith(overrides, "/portal");
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(body).toContain("/problems/misconfigured");
      expect(body).not.toContain("<script>");
    }
  });
});
