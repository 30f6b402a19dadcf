// Comments and replies posted without a page reload: the forms still work without JavaScript.
// After the API has taken a comment, the thread is fetched again as the server renders it
// (its forms, badges and sanitised HTML), so no markup is built here.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("comment-form")) return;
  const section = form.closest("section.discussion");
  if (!section) return;
  event.preventDefault();
  const meta = document.querySelector('meta[name="csrf-token"]');
  const body = form.elements.namedItem("body");
  const parent = form.elements.namedItem("parent_id");
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  try {
    const response = await fetch(`/api/papers/${section.dataset.arxivId}/comments`, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRF-Token": meta ? meta.content : "", "Accept": "application/json",
                "Content-Type": "application/json"},
      body: JSON.stringify({body: body ? body.value : "",
                            parent_id: parent && parent.value ? Number(parent.value) : null}),
    });
    if (response.status === 401) {
      form.submit();  // the server explains (sign in)
      return;
    }
    if (!response.ok) {
      showError(form, response.status, await response.json().catch(() => ({})));
      return;
    }
    const posted = await response.json();
    await refresh(section, posted.id);
  } catch (error) {
    form.submit();  // the network or the page failed us: the plain form still works
  } finally {
    if (button) button.disabled = false;
  }
});

function showError(form, status, answer) {
  let note = form.querySelector(".comment-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "comment-error error";
    note.setAttribute("role", "alert");
    form.prepend(note);
  }
  const detail = typeof answer.detail === "string" ? answer.detail : `error ${status}`;
  note.textContent = detail;
}

async function refresh(section, commentId) {
  const order = new URLSearchParams(location.search).get("order") || "newest";
  const url = `/papers/${section.dataset.arxivId}/discussion?order=${encodeURIComponent(order)}`;
  const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}});
  if (!response.ok) {
    location.hash = `c${commentId}`;
    location.reload();
    return;
  }
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html")
    .querySelector("section.discussion");
  if (!fresh) return;
  section.replaceWith(fresh);
  const shown = document.getElementById(`c${commentId}`);
  if (shown) {
    shown.setAttribute("tabindex", "-1");
    shown.scrollIntoView({block: "center"});
    shown.focus({preventScroll: true});
  }
}
