// GraphView's view: show the SVG drawn in Python. Ctrl/⌘ + wheel zooms (a plain wheel
// scrolls the notebook, unless the graph was clicked first), drag pans, double-click
// resets. Zoom survives re-draws of the same graph (same data-key).
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "fl-graphview";
  const message = document.createElement("div");
  message.className = "fl-message";
  const canvas = document.createElement("div");
  canvas.className = "fl-canvas";
  const hint = document.createElement("div");
  hint.className = "fl-hint";
  hint.textContent = "Zoom: Ctrl (⌘) + wheel, or click the graph, then wheel · "
    + "pan: drag · reset: double-click";
  box.append(message, hint, canvas);
  el.append(box);

  let view = null;      // [x, y, width, height] of the viewBox, once zoomed or panned
  let key = null;

  function svg() {
    return canvas.querySelector("svg");
  }

  function applyView() {
    if (view && svg()) svg().setAttribute("viewBox", view.join(" "));
  }

  function draw() {
    const text = model.get("message");
    message.textContent = text;
    message.style.display = text ? "block" : "none";
    canvas.innerHTML = model.get("svg");
    const s = svg();
    hint.style.display = s ? "block" : "none";
    if (!s) return;
    const newKey = s.getAttribute("data-key");
    if (newKey !== key) view = null;      // a different graph: start from the full view
    key = newKey;
    applyView();
  }

  function currentView() {
    if (!view) view = svg().getAttribute("viewBox").split(/\s+/).map(Number);
    return view;
  }

  // a plain wheel belongs to the notebook, so a reader scrolling past is never trapped
  let active = false;
  function setActive(on) {
    active = on;
    canvas.classList.toggle("fl-active", on);
  }
  canvas.addEventListener("click", () => setActive(true));
  canvas.addEventListener("mouseleave", () => setActive(false));

  canvas.addEventListener("wheel", (event) => {
    if (!svg() || !(active || event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    const [x, y, w, h] = currentView();
    const rect = svg().getBoundingClientRect();
    const px = x + ((event.clientX - rect.left) / rect.width) * w;
    const py = y + ((event.clientY - rect.top) / rect.height) * h;
    const scale = event.deltaY > 0 ? 1.15 : 1 / 1.15;
    view = [px - (px - x) * scale, py - (py - y) * scale, w * scale, h * scale];
    applyView();
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("mousedown", (event) => {
    if (svg()) drag = { x: event.clientX, y: event.clientY, start: [...currentView()] };
  });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const rect = svg().getBoundingClientRect();
    const [x, y, w, h] = drag.start;
    view = [x - ((event.clientX - drag.x) / rect.width) * w,
            y - ((event.clientY - drag.y) / rect.height) * h, w, h];
    applyView();
  });
  window.addEventListener("mouseup", () => { drag = null; });
  canvas.addEventListener("dblclick", () => { view = null; draw(); });

  model.on("change:svg", draw);
  model.on("change:message", draw);
  draw();
}

export default { render };
