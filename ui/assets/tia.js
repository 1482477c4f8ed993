() => {
  // Clicking [n] in an answer brings source n of that answer into view (and focus).
  // Handled here rather than by the browser: the chat's Markdown may open links in a
  // new tab, and the source may sit in a closed <details> of an older answer.
  document.documentElement.lang = "fr";
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href*="#src-"]');
    if (!link) return;
    const id = decodeURIComponent(new URL(link.href, location.href).hash.slice(1));
    const card = document.getElementById(id);
    event.preventDefault();
    event.stopPropagation();
    if (!card) return;
    const details = card.closest("details");
    if (details) details.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
    card.focus({ preventScroll: true });
    card.classList.add("tia-flash");
    setTimeout(() => card.classList.remove("tia-flash"), 2500);
  }, true);
}
