// PageLink's view: keeps the page's address in step with the Playground's settings
// (history.replaceState: no reload, no new history entry) and shows a link to them.
// Only where Python says the page is the app (Voila); in JupyterLab it does nothing.
function render({ model, el }) {
  const link = document.createElement("a");
  link.className = "fl-pg-link";
  link.textContent = "Link to this set-up";
  link.title = "The address of this page holds every setting: copy it to share this set-up.";
  el.append(link);

  function sync() {
    const rewrite = model.get("rewrite_url");
    link.style.display = rewrite ? "" : "none";
    if (!rewrite) return;
    const url = new URL(window.location.href);
    url.search = model.get("query");
    link.href = url.toString();
    if (url.toString() !== window.location.href) {
      window.history.replaceState(window.history.state, "", url);
    }
  }

  model.on("change:query", sync);
  model.on("change:rewrite_url", sync);
  sync();
}

export default { render };
