"""ispc_core.zk.templating: text between tags is kept exactly; for / if / else / end; broken templates refused."""

from __future__ import annotations

import pytest

from ispc_core.zk.templating import TemplateError, render


def test_text_and_whitespace_are_kept_exactly():
    t = "a <%= x %>  \n    <% for i in range(n) %>\n    v<%= i %> = <%= xs[i] %>;\n    <% end %>\n \n"
    assert render(t, {"x": 7, "n": 2, "xs": ["10", "20"]}) == "a 7  \n    \n    v0 = 10;\n    \n    v1 = 20;\n    \n \n"


def test_if_else_and_comments():
    t = "<% for i in range(1, 4) %><% if i == 1 %>one<% else %><%= i %><% end %><% if i < 3 %>,<% end %><% end %><% # note %>."
    assert render(t, {}) == "one,2,3."


def test_values_are_inserted_not_evaluated():
    assert render("<%= s %>", {"s": "__import__('os')"}) == "__import__('os')"


@pytest.mark.parametrize("bad", ["<% for i in range(3) %>x", "<% end %>", "<% else %>", "<% while 1 %>", "<%= ( %>", "<% for in x %><% end %>"])
def test_broken_templates_are_refused(bad):
    with pytest.raises(TemplateError):
        render(bad, {})


def test_expressions_see_only_values_and_a_few_builtins():
    with pytest.raises(NameError):
        render("<%= open %>", {})
    assert render("<%= max(n, 1) %> <%= len(xs) - 1 %>", {"n": 0, "xs": [1, 2]}) == "1 1"
