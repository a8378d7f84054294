"""The roles and directives the site's build knows, so that ``make check`` knows them too.

``make check`` runs without Sphinx, so it cannot ask Sphinx's registry; these
are the names registered by docutils (English), Sphinx, its standard and
Python domains (also without prefix), MyST, sphinx-design, ABlog and ``kb``;
the citation roles come from ``kb_citations`` (:mod:`kb.citations`).
``tests/test_rules.py`` compares them with a real build's registry, so an
extension added to ``conf.py`` fails the tests until its names are here.
"""

from __future__ import annotations

ROLES = frozenset(
    """
    ab abbr abbreviation ac acronym anonymous-reference any attr author bdg bdg-black bdg-black-line
    bdg-danger bdg-danger-line bdg-dark bdg-dark-line bdg-info bdg-info-line bdg-light
    bdg-light-line bdg-link bdg-link-black bdg-link-black-line bdg-link-danger bdg-link-danger-line
    bdg-link-dark bdg-link-dark-line bdg-link-info bdg-link-info-line bdg-link-light
    bdg-link-light-line bdg-link-muted bdg-link-muted-line bdg-link-primary bdg-link-primary-line
    bdg-link-secondary bdg-link-secondary-line bdg-link-success bdg-link-success-line
    bdg-link-warning bdg-link-warning-line bdg-link-white bdg-link-white-line bdg-muted
    bdg-muted-line bdg-primary bdg-primary-line bdg-ref bdg-ref-black bdg-ref-black-line
    bdg-ref-danger bdg-ref-danger-line bdg-ref-dark bdg-ref-dark-line bdg-ref-info bdg-ref-info-line
    bdg-ref-light bdg-ref-light-line bdg-ref-muted bdg-ref-muted-line bdg-ref-primary
    bdg-ref-primary-line bdg-ref-secondary bdg-ref-secondary-line bdg-ref-success
    bdg-ref-success-line bdg-ref-warning bdg-ref-warning-line bdg-ref-white bdg-ref-white-line
    bdg-secondary bdg-secondary-line bdg-success bdg-success-line bdg-warning bdg-warning-line
    bdg-white bdg-white-line c:data c:enum c:enumerator c:expr c:func c:macro c:member c:struct
    c:texpr c:type c:union c:var citation-reference class code command confval const cpp:any
    cpp:class cpp:concept cpp:enum cpp:enumerator cpp:expr cpp:func cpp:member cpp:struct cpp:texpr
    cpp:type cpp:union cpp:var cve cwe data deco dfn doc download emphasis envvar eq exc fa
    fa-brands fa-regular fa-solid fab far fas file footnote-reference func guilabel i index js:attr
    js:class js:data js:func js:meth js:mod kb:author kb:part kb:post kb:practice kb:series kb:tag
    kb:term kbd keyword literal mailheader makevar manpage material-outlined material-regular
    material-round material-sharp material-twotone math math:numref menuselection meth mimetype mod
    named-reference newsgroup numref obj octicon option part pep pep-reference post practice program
    py:attr py:class py:const py:data py:deco py:exc py:func py:meth py:mod py:obj py:type raw ref
    regexp restructuredtext-unimplemented-role rfc rfc-reference rst:dir rst:role samp series
    std:confval std:doc std:envvar std:keyword std:numref std:option std:ref std:term std:token
    strong sub sub-ref subscript substitution-reference sup superscript t tag target term title
    title-reference token type uri uri-reference url
    """.split()  # noqa: SIM905 (a list of 300 names is easier to read as text)
)

DIRECTIVES = frozenset(
    """
    _all-octicon accordion acks admonition article-info aside attention attribute button-link
    button-ref c:alias c:enum c:enumerator c:function c:macro c:member c:namespace c:namespace-pop
    c:namespace-push c:struct c:type c:union c:var card card-carousel card-footer card-header
    caution centered class classmethod cmdoption code code-block codeauthor compound confval
    container contents cpp:alias cpp:class cpp:concept cpp:enum cpp:enum-class cpp:enum-struct
    cpp:enumerator cpp:function cpp:member cpp:namespace cpp:namespace-pop cpp:namespace-push
    cpp:struct cpp:type cpp:union cpp:var cssclass csv-table currentmodule danger data date
    decorator decoratormethod default-domain default-role deprecated describe div dropdown envvar
    epigraph error exception figure figure-md footer function glossary grid grid-item grid-item-card
    header highlight highlights hint hlist image important include index js:attribute js:class
    js:data js:function js:method js:module kb-authors kb-browse kb-posts kb-practices
    kb-regulations kb-review-queue kb-schema kb-search-box kb-series-index kb-series-parts kb-tags
    line-block list-table literalinclude math meta method module moduleauthor note object only
    option parsed-literal post postlist productionlist program property pull-quote py:attribute
    py:class py:classmethod py:currentmodule py:data py:decorator py:decoratormethod py:exception
    py:function py:method py:module py:property py:staticmethod py:type raw replace
    restructuredtext-test-directive role rst-class rst:directive rst:directive:option rst:role
    rubric section-numbering sectionauthor sectnum seealso sidebar sourcecode staticmethod
    std:cmdoption std:confval std:envvar std:glossary std:option std:productionlist std:program step
    steps tab-item tab-set tab-set-code table tabularcolumns target-notes tip title toctree topic
    type unicode update version-added version-changed version-deprecated version-removed
    versionadded versionchanged versionremoved warning
    """.split()  # noqa: SIM905 (a list of 300 names is easier to read as text)
)
