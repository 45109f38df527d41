import { z } from "@hono/zod-openapi";
import { PASSWORD_LENGTH } from "./portal-api.schemas";

/** Portal accounts: verification, reset, invitations, settings. */
const email = z.email().max(254).openapi({ example: "dev@example.com" });
const newPassword = z
  .string()
  .min(PASSWORD_LENGTH.min, `at least ${PASSWORD_LENGTH.min} characters`)
  .max(PASSWORD_LENGTH.max);
const token = z
  .string()
  .min(1)
  .max(128)
  .openapi({ description: "The `token` parameter of the link in the email" });

export const VerifyEmailSchema = z.object({ token }).strict().openapi("PortalVerifyEmail");

export const VerifiedEmailSchema = z
  .object({
    email: z.email(),
    emailVerified: z.literal(true),
    changed: z.boolean().openapi({ description: "True when the link confirmed a change of address" }),
  })
  .openapi("PortalVerifiedEmail");

export const ForgotPasswordSchema = z.object({ email }).strict().openapi("PortalForgotPassword");

export const AcceptedSchema = z
  .object({ status: z.literal("accepted"), detail: z.string() })
  .openapi("PortalAccepted");

export const ResetPasswordSchema = z
  .object({ token, password: newPassword })
  .strict()
  .openapi("PortalResetPassword");

export const ChangeEmailSchema = z
  .object({
    email: email.openapi({ description: "The new address; it applies once its link is opened" }),
    password: z.string().min(1).max(PASSWORD_LENGTH.max).openapi({ description: "Your current password" }),
  })
  .strict()
  .openapi("PortalChangeEmail");

export const ChangePasswordSchema = z
  .object({ currentPassword: z.string().min(1).max(PASSWORD_LENGTH.max), newPassword })
  .strict()
  .openapi("PortalChangePassword");
