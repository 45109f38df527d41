import type { ErrorHandler } from "hono";
import { problemBody, problemResponse } from "../../lib/errors";
import { problemFor } from "../../middleware/error-handler";
import type { PortalEnv } from "../portal-env";
import { pageContext } from "./page-context";
import { ErrorPage } from "./views/error";

const FRIENDLIER: Partial<Record<number, string>> = {
  403: "This form could not be verified: it may be from another site or an old page. Reload the page and try again.",
  404: "There is nothing here, or it belongs to another account.",
};

/**
 * Errors on pages: the app's own error mapping decides the problem and logs what must be logged (so pages
 * and the API agree), then the problem is shown as a page with the headers problem+json would carry
 * (X-Request-Id, Retry-After...). Should the page itself fail, the problem+json stands.
 */
export const renderPageError: ErrorHandler<PortalEnv> = async (error, c) => {
  // problemFor is typed for the app's env; the portal's is a superset of it.
  const problem = problemFor(error, c as never);
  const requestId = c.get("requestId");
  const headers = { ...problem.headers, "Cache-Control": "no-store", "X-Request-Id": requestId };
  try {
    const body = problemBody(problem, requestId, new URL(c.req.url).pathname);
    const page = await pageContext(c);
    return c.html(
      <ErrorPage
        page={page}
        status={body.status}
        title={body.title}
        detail={FRIENDLIER[body.status] ?? body.detail}
        requestId={requestId}
      />,
      body.status as 400,
      headers,
    );
  } catch {
    const response = problemResponse(c, problem);
    response.headers.set("X-Request-Id", requestId);
    return response;
  }
};
