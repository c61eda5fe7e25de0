"""The report's stand-in for MathJax: ``$...$`` and ``$$...$$`` in markdown become MathML."""
from labkit.report.html import math_to_mathml


def test_inline_math_on_one_line_and_over_a_line_break():
    one = math_to_mathml(r"the sum $\sum_b x_b$ here")
    assert "<math" in one and "$" not in one
    # a line break inside inline math (markdown source wrapped at a fixed width) is still one expression
    wrapped = math_to_mathml("with $\\ln\\binom{N}{k} = \\ln\\Gamma(N+1) -\n\\ln\\Gamma(N-k+1)$ and more")
    assert wrapped.count("<math") == 1 and "$" not in wrapped and "\\ln" not in wrapped


def test_inline_math_stops_at_a_paragraph_and_leaves_code_alone():
    # a blank line ends a paragraph: two lone dollars in two paragraphs are not one expression
    text = "costs $5 in one paragraph\n\nand $6 in the next"
    assert math_to_mathml(text) == text
    code = "run `echo $HOME` and\n`x = $y$`"
    assert math_to_mathml(code) == code
    assert math_to_mathml(r"a price of \$5 and \$6") == r"a price of \$5 and \$6"


def test_display_math_over_lines():
    out = math_to_mathml("before\n$$P = \\sum_{b=\\theta}^{s}\n p_b$$\nafter")
    assert 'display="block"' in out and "$$" not in out
