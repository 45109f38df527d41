import type { RouteHandler } from "@hono/zod-openapi";
import { adminActor } from "../audit/audit";
import type { AppEnv } from "../lib/context";
import { accountMailDeps } from "../portal/services/account-mail";
import { inviteToPortal } from "../portal/services/invitations";
import { presentAccount } from "./admin.presenters";
import type { inviteRoute } from "./invitations.routes";

export const inviteHandler: RouteHandler<typeof inviteRoute, AppEnv> = async (c) => {
  const services = c.get("services");
  const invitation = await inviteToPortal(
    { ...accountMailDeps(services), keyEnvironment: services.config.keyEnvironment, actor: adminActor },
    c.req.valid("json"),
  );
  return c.json(
    {
      account: presentAccount(invitation.account),
      created: invitation.created,
      expiresAt: invitation.expiresAt.toISOString(),
    },
    201,
  );
};
