// Static-site helpers for live ipywidgets (see book/_ext/sde_site.py).
(() => {
  // ipywidgets 8's controls typeset widget labels with MathJax 2's `MathJax.Hub.Queue(["Typeset", Hub, el])`;
  // MathJax 3 has no Hub, so every widget with a description threw. Give MathJax 3 that one call.
  const shimMathJax2 = () => {
    const MJ = window.MathJax;
    if (!MJ || MJ.Hub || !MJ.version || !MJ.version.startsWith("3")) return;
    MJ.Hub = {
      Queue: (...jobs) => {
        const elements = jobs.filter((j) => Array.isArray(j) && j[0] === "Typeset" && j[2]).map((j) => j[2]);
        if (elements.length) MJ.startup.promise.then(() => MJ.typesetPromise(elements)).catch(() => {});
      },
    };
  };

  // Images that the HTML manager draws inside a frozen widget snapshot (an Output widget's plot, say) come
  // without alt text; give them one, so that every image on the site has a text alternative.
  const ALT = "Snapshot of the live widget's figure at its starting setting; the static figure beside it shows the idea.";
  const labelImages = () =>
    document.querySelectorAll(".sde-widget-frozen img:not([alt]), .sde-widget-frozen img[alt='']").forEach((img) => {
      img.alt = ALT;
    });

  const start = () => {
    shimMathJax2();
    if (!document.querySelector(".sde-widget-frozen")) return;
    labelImages();
    new MutationObserver(labelImages).observe(document.body, { childList: true, subtree: true });
  };
  // This script is deferred, like MathJax after it: all of them have run by DOMContentLoaded, and the widgets
  // render later, on load.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
