/**
 * The portal's one stylesheet, inlined (with the CSP nonce) so a page is a single response. System fonts,
 * colours chosen for contrast (body text 14:1, muted text and buttons at least 4.5:1 on their background), a
 * focus ring on everything focusable, and layouts that wrap down to a phone's width.
 */
export const PORTAL_CSS = `
:root{--text:#1f2937;--muted:#4b5563;--line:#d1d5db;--bg:#fff;--soft:#f3f4f6;--brand:#1d4ed8;--brand-dark:#1e3a8a;
--danger:#b91c1c;--warn-bg:#fef3c7;--warn-line:#b45309;--ok-bg:#ecfdf5;--ok-line:#047857;--focus:#9a3412}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--text);background:var(--bg)}
a{color:var(--brand)}a:hover{color:var(--brand-dark)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.skip{position:absolute;left:-999px;top:.5rem;background:var(--bg);padding:.5rem 1rem;z-index:1;border-radius:.375rem;box-shadow:0 2px 8px rgba(0,0,0,.25)}.skip:focus{left:1rem}
header.site{border-bottom:1px solid var(--line);background:var(--soft)}
.bar{max-width:66rem;margin:0 auto;padding:.75rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem}
.brand{font-weight:700;color:var(--text);text-decoration:none;font-size:1.1rem}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
nav a[aria-current=page]{font-weight:700;color:var(--text)}
.who{margin-left:auto;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;color:var(--muted);font-size:.95rem}
main{max-width:66rem;margin:0 auto;padding:1.5rem 1rem 3rem}
footer.site{border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}
h1{font-size:1.75rem;line-height:1.2;margin:.25rem 0 1rem}h2{font-size:1.3rem;margin:2rem 0 .75rem}
p.lead{font-size:1.1rem;color:var(--muted);max-width:46rem}
.muted{color:var(--muted)}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:.5rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.55rem .75rem;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:var(--soft)}tbody tr:last-child>*{border-bottom:0}
tbody th[scope=row]{min-width:9rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.plans{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem;padding:0;list-style:none}
.plan{border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.25rem}
.plan h3{margin:0}.plan .price{font-size:1.3rem;font-weight:700;margin:.25rem 0}
.plan ul{padding-left:1.2rem;margin:.5rem 0 0}
form.stack{display:grid;gap:1rem;max-width:28rem}
form.inline{display:inline}
.row{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}
.fields{display:grid;grid-template-columns:minmax(12rem,1fr) minmax(12rem,1fr) auto;gap:.75rem 1rem;align-items:end}
@media (max-width:40rem){.fields{grid-template-columns:1fr}}
label{display:block;font-weight:600;margin-bottom:.25rem}
.hint{display:block;font-weight:400;color:var(--muted);font-size:.9rem}
input,select{font:inherit;color:inherit;padding:.5rem .6rem;border:1px solid #6b7280;border-radius:.375rem;background:#fff;width:100%;height:2.75rem}
input[aria-invalid=true]{border-color:var(--danger)}
.field-error{color:var(--danger);font-size:.9rem;margin-top:.25rem}
button,.button{font:inherit;font-weight:600;display:inline-block;padding:.5rem 1rem;border-radius:.375rem;border:1px solid var(--brand);background:var(--brand);color:#fff;cursor:pointer;text-decoration:none;line-height:1.5}
button:hover,.button:hover{background:var(--brand-dark);color:#fff}
.secondary{background:#fff;color:var(--brand)}.secondary:hover{background:var(--soft);color:var(--brand-dark)}
.danger{background:var(--danger);border-color:var(--danger)}.danger:hover{background:#7f1d1d}
.link{background:none;border:0;color:var(--brand);padding:0;font-weight:400;text-decoration:underline}.link:hover{background:none;color:var(--brand-dark)}
.notice{border-left:4px solid var(--ok-line);background:var(--ok-bg);padding:.75rem 1rem;border-radius:.25rem;margin:0 0 1.25rem}
.alert{border-left:4px solid var(--warn-line);background:var(--warn-bg);padding:.75rem 1rem;border-radius:.25rem;margin:0 0 1.25rem}
.error{border-left:4px solid var(--danger);background:#fef2f2;padding:.75rem 1rem;border-radius:.25rem;margin:0 0 1.25rem}
.secret{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0 1rem}.secret pre{margin:0;flex:1 1 24rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92rem}
.secret code,pre{background:var(--soft);border:1px solid var(--line);border-radius:.375rem;padding:.5rem .75rem;overflow-x:auto;overflow-wrap:anywhere;white-space:pre-wrap}
.status{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.85rem;font-weight:600;border:1px solid}
.status-active{color:#065f46;border-color:#065f46}.status-revoked{color:var(--danger);border-color:var(--danger)}
.status-expired,.status-rotating{color:#92400e;border-color:#92400e}
.actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem}
.chart{width:100%;height:auto;max-width:60rem;display:block}
.legend{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0;margin:.5rem 0}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:.15rem;margin-right:.35rem;vertical-align:-.1rem}
.sw-ok{background:#1d4ed8}.sw-rate_limited{background:#d97706}.sw-quota{background:#b91c1c}
meter{display:block;width:100%;max-width:32rem;height:1.25rem;margin:.35rem 0}
meter::-webkit-meter-bar{background:#e5e7eb;border:1px solid #6b7280;border-radius:.25rem;height:1.25rem}
meter::-webkit-meter-optimum-value{background:#1d4ed8}meter::-webkit-meter-suboptimum-value{background:#d97706}meter::-webkit-meter-even-less-good-value{background:#b91c1c}
details{margin-top:1rem}summary{cursor:pointer;color:var(--brand)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
.card{border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.25rem}
.card h2{margin-top:0}
@media (max-width:40rem){h1{font-size:1.45rem}.who{margin-left:0}}
code,.who span{overflow-wrap:anywhere}
/* An absolutely positioned .sr-only label escapes an overflow box that is not positioned itself: in a wide
   table it landed beyond the screen's edge and made the whole page scroll sideways. */
.table-wrap{position:relative}
.brand{display:inline-flex;align-items:center;gap:.5rem}.brand .logo{height:1.75rem;width:auto}
details+.row,details+form{margin-top:1.25rem}
.secret>code{min-width:0;max-width:100%}
/* Phones: a table of class cards-on-phone becomes one card per row, each cell labelled by its data-label, so
   nothing (like a row's Rotate and Revoke) sits beyond the screen's edge and the page never scrolls sideways. */
@media (max-width:40rem){
.secret pre{flex-basis:100%;min-width:0}
.table-wrap:has(.cards-on-phone){overflow-x:visible}
.cards-on-phone,.cards-on-phone tbody,.cards-on-phone tr,.cards-on-phone th,.cards-on-phone td{display:block;width:100%}
.cards-on-phone thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.cards-on-phone tbody tr{padding:.5rem 0;border-bottom:1px solid var(--line)}
.cards-on-phone tbody tr:last-child{border-bottom:0}
.cards-on-phone th,.cards-on-phone td{border:0;padding:.2rem .75rem}
.cards-on-phone tbody th[scope=row]{min-width:0;font-size:1.05rem}
.cards-on-phone td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}
.cards-on-phone td[data-label=Actions]::before{content:none}
.cards-on-phone td.num{text-align:left}
.cards-on-phone .actions{gap:.5rem 1.25rem;padding:.25rem 0}
}
`;
