import { Resend } from "resend";
import type { Config } from "../config";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { RenderedMail } from "./templates";

/**
 * Sending mail through Resend's HTTP API with its official client (`resend`), which is plain `fetch` and runs
 * on Workers without nodejs_compat (see docs/ARCHITECTURE.md, "Mail"). `RESEND_API_BASE` points it at the
 * local stand-in in `npm run dev` and the tests.
 */
export interface Mailer {
  /**
   * Sends one message to one address. `idempotencyKey` (1-256 characters; Resend keeps it 24 h) makes a retry
   * of the same message a no-op at the provider.
   * @returns the provider's message id.
   * @throws ApiError `mail_provider_error` (502) when Resend refuses or cannot be reached.
   */
  send(to: string, mail: RenderedMail, options?: { idempotencyKey?: string }): Promise<string>;
}

/** Whether mail can be sent at all (the API key is set). */
export const mailConfigured = (config: Pick<Config, "resendApiKey">) => config.resendApiKey !== undefined;

/**
 * The mailer of this deployment.
 * @throws ApiError `mail_not_configured` (503) without RESEND_API_KEY: a route that must send mail refuses
 *   rather than drop it silently.
 */
export function mailerFor(
  config: Pick<Config, "resendApiKey" | "resendApiBase" | "mailFrom" | "mailSupportAddress">,
  log: Logger,
): Mailer {
  if (!config.resendApiKey) {
    throw new ApiError("mail_not_configured", {
      detail: "This gateway cannot send email yet (RESEND_API_KEY is not set); ask its operator.",
    });
  }
  const resend = new Resend(config.resendApiKey, { baseUrl: config.resendApiBase.replace(/\/$/, "") });
  return {
    async send(to, mail, options = {}) {
      const { data, error } = await resend.emails.send(
        {
          from: config.mailFrom,
          to: [to],
          replyTo: config.mailSupportAddress,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          tags: [{ name: "kind", value: mail.kind }],
        },
        options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : undefined,
      );
      if (error || !data) {
        // The provider's error names what was wrong; it never echoes the message body (which holds the link).
        log.error("mail refused by the provider", {
          kind: mail.kind,
          providerError: error?.name,
          statusCode: (error as { statusCode?: number } | null)?.statusCode,
        });
        throw new ApiError("mail_provider_error", {
          detail: "The email could not be sent just now; try again in a minute.",
        });
      }
      log.info("mail sent", { kind: mail.kind, messageId: data.id });
      return data.id;
    },
  };
}
