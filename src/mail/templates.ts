/**
 * Every email the gateway sends, in one place: a plain-text part (what every client shows) and a simple HTML
 * part, both from the same words. They name the owner's API (`API_NAME`) and support address
 * (`MAIL_SUPPORT_ADDRESS`), and say why the reader got the mail, so an unexpected one can be ignored safely.
 * Links carry single-use tokens: they appear in the mail only, never in logs.
 */
export interface RenderedMail {
  /** Resend tag value (letters, digits, _ and -): what kind of mail this is, for logs and the provider. */
  kind: string;
  subject: string;
  text: string;
  html: string;
}

export interface Brand {
  apiName: string;
  supportAddress: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** A paragraph of text, or a button-like link. */
type Block = string | { link: string; label: string };

function render(kind: string, subject: string, brand: Brand, blocks: Block[]): RenderedMail {
  const footer = `You got this email from the developer portal of ${brand.apiName}. Questions? Write to ${brand.supportAddress}.`;
  const text = [
    ...blocks.map((block) => (typeof block === "string" ? block : `${block.label}:\n${block.link}`)),
    "--",
    footer,
  ].join("\n\n");
  const body = blocks
    .map((block) =>
      typeof block === "string"
        ? `<p style="margin:0 0 16px">${escapeHtml(block)}</p>`
        : `<p style="margin:0 0 16px"><a href="${escapeHtml(block.link)}" style="display:inline-block;background:#2454d6;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">${escapeHtml(block.label)}</a></p>` +
          `<p style="margin:0 0 16px;font-size:13px;color:#5b6474">Or open this address: <span style="word-break:break-all">${escapeHtml(block.link)}</span></p>`,
    )
    .join("\n");
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;font:15px/1.5 -apple-system,Segoe UI,Roboto,sans-serif;color:#1d2430;background:#f5f6f8">
<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:24px">
<p style="margin:0 0 16px;font-weight:600">${escapeHtml(brand.apiName)}</p>
${body}
<p style="margin:24px 0 0;font-size:13px;color:#5b6474">${escapeHtml(footer)}</p>
</div></body></html>`;
  return { kind, subject, text, html };
}

export const mailTemplates = {
  verifyEmail: (brand: Brand, input: { link: string; hours: number }) =>
    render("verify_email", `Confirm your email for ${brand.apiName}`, brand, [
      `Welcome! Confirm that this is your email address to create API keys and choose a plan.`,
      { link: input.link, label: "Confirm my email" },
      `The link works once and expires in ${input.hours} hours. If you did not sign up, ignore this email: nothing happens without the link.`,
    ]),

  signUpAttempt: (brand: Brand, input: { loginLink: string; resetLink: string }) =>
    render("signup_attempt", `Someone tried to sign up to ${brand.apiName} with your email`, brand, [
      `Someone (perhaps you) tried to create an account for ${brand.apiName} with this email address. You already have one, so nothing was changed.`,
      { link: input.loginLink, label: "Log in" },
      `Forgot your password? Choose a new one here: ${input.resetLink}`,
      `If it was not you, you can ignore this email: your account and keys are unchanged.`,
    ]),

  passwordReset: (brand: Brand, input: { link: string; minutes: number }) =>
    render("password_reset", `Reset your ${brand.apiName} password`, brand, [
      `Someone (hopefully you) asked to reset the password of your ${brand.apiName} account.`,
      { link: input.link, label: "Choose a new password" },
      `The link works once and expires in ${input.minutes} minutes. Setting a new password signs out every other session. If you did not ask for this, ignore this email: your password stays as it is.`,
    ]),

  invitation: (brand: Brand, input: { link: string; days: number }) =>
    render("invitation", `You are invited to ${brand.apiName}`, brand, [
      `An account of ${brand.apiName}'s developer portal is ready for this email address. Choose a password to log in, manage your API keys and see your usage.`,
      { link: input.link, label: "Accept the invitation" },
      `The link works once and expires in ${input.days} days.`,
    ]),

  changeEmailVerify: (brand: Brand, input: { link: string; hours: number }) =>
    render("change_email", `Confirm your new email for ${brand.apiName}`, brand, [
      `You asked to use this address for your ${brand.apiName} account. Confirm it to make the change.`,
      { link: input.link, label: "Confirm my new email" },
      `The link works once and expires in ${input.hours} hours. If you did not ask for this, ignore this email.`,
    ]),

  changeEmailNotice: (brand: Brand, input: { newEmail: string }) =>
    render("change_email_notice", `Your ${brand.apiName} email is being changed`, brand, [
      `Someone signed in to your ${brand.apiName} account asked to change its email address to ${input.newEmail}. The change happens once that address is confirmed.`,
      `If this was not you, change your password now and write to ${brand.supportAddress}.`,
    ]),

  passwordChanged: (brand: Brand) =>
    render("password_changed", `Your ${brand.apiName} password was changed`, brand, [
      `The password of your ${brand.apiName} account was just changed, and every other session was signed out.`,
      `If this was not you, reset your password from the login page at once and write to ${brand.supportAddress}.`,
    ]),

  quotaAlert: (
    brand: Brand,
    input: { percent: number; used: number; limit: number; month: string; usageLink?: string },
  ) =>
    render(
      `quota_${input.percent}`,
      input.percent >= 100
        ? `You have used all of this month's ${brand.apiName} quota`
        : `You have used ${input.percent}% of this month's ${brand.apiName} quota`,
      brand,
      [
        `Your account has made ${input.used.toLocaleString("en-US")} of its ${input.limit.toLocaleString("en-US")} requests for ${input.month} (UTC).`,
        input.percent >= 100
          ? `Requests are refused with 429 until the quota resets at the start of next month (UTC). Upgrade your plan to continue now.`
          : `When the quota is used up, requests are refused with 429 until the next month (UTC). Upgrade your plan to get more.`,
        ...(input.usageLink ? [{ link: input.usageLink, label: "See your usage" }] : []),
      ],
    ),
};
