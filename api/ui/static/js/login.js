// Carries the route the visitor asked for (the part after #) through the
// sign-in, so that a link to an issue still lands on it.
const next = document.getElementById('next');
if (next && location.hash.startsWith('#/')) next.value = location.hash;
