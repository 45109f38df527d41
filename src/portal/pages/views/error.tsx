import type { FC } from "hono/jsx";
import { Layout, type PageContext } from "../layout";

export const ErrorPage: FC<{
  page: PageContext;
  status: number;
  title: string;
  detail?: string;
  requestId?: string;
}> = ({ page, status, title, detail, requestId }) => (
  <Layout page={page} title={title} current="home">
    <h1>{title}</h1>
    {detail ? <p>{detail}</p> : null}
    <p class="muted">
      {`Error ${status}`}
      {requestId ? ` · request id ${requestId}` : ""}
    </p>
    <p>
      <a href={page.user ? "/portal/keys" : "/portal"}>Back to the portal</a>
    </p>
  </Layout>
);
