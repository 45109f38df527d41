import type { ErrorHandler } from "hono";
import type { ProblemBody } from "../../lib/errors";
import { renderError } from "../../middleware/error-handler";
import type { PortalEnv } from "../portal-env";
import { pageContext } from "./page-context";
import { ErrorPage } from "./views/error";

const FRIENDLIER: Partial<Record<number, string>> = {
  403: "This form could not be verified: it may be from another site or an old page. Reload the page and try again.",
  404: "There is nothing here, or it belongs to another account.",
};

/**
 * Errors on pages: the app's own error handler decides the status and logs what must be logged (so pages and
 * the API agree), then the problem is shown as a page. Should the page itself fail, the problem+json stands.
 */
export const renderPageError: ErrorHandler<PortalEnv> = async (error, c) => {
  // renderError is typed for the app's env; the portal's is a superset of it.
  const problemResponse = await renderError(error, c as never);
  try {
    const problem = (await problemResponse.clone().json()) as ProblemBody;
    const page = await pageContext(c);
    const detail = FRIENDLIER[problem.status] ?? problem.detail;
    return c.html(
      <ErrorPage
        page={page}
        status={problem.status}
        title={problem.title}
        detail={detail}
        requestId={problem.requestId}
      />,
      problem.status as 400,
      // The problem's headers (X-Request-Id, Retry-After...), but the page is HTML.
      Object.fromEntries(
        [...problemResponse.headers].filter(([name]) => name.toLowerCase() !== "content-type"),
      ),
    );
  } catch {
    return problemResponse;
  }
};
