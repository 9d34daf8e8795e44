"""The loader's validating query in Spark's SQL, transpiled by sqlglot from the one the contracts
generate in DuckDB's (`loader.validation_sql`), so that the contract is written once for both engines.

sqlglot passes two things through as DuckDB wrote them, rewritten here: `regexp_full_match`, which
Spark lacks (a Java regex anchored at both ends, `\\z` rather than `$`, which would also match before a
final newline), and the reference tables (`raw.<table>`), which the Spark session holds as temporary
views of the rows the warehouse has (`reference_view`). The query is built from what both engines
parse alike (`loader.TYPED_TEXT`); tests/test_spark_loader.py loads the same bad input on both and
compares every row, reason and count.
"""

from __future__ import annotations


def reference_view(table: str) -> str:
    """The Spark temporary view holding the warehouse's `raw.<table>` for a load."""
    return f"_raw__{table}"


def raw_tables(sql: str) -> list[str]:
    """The `raw.<table>` names the query reads."""
    import sqlglot  # here, not at import: a third of a second that only a Spark load needs
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    return sorted({t.name for t in tree.find_all(exp.Table) if t.db == "raw"})


def _rewrite(node):
    from sqlglot import exp

    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise ValueError(f"regexp_full_match needs a literal pattern to transpile: {node.sql('duckdb')}")
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{pattern.this})\\z"))
    if isinstance(node, exp.Table) and node.db == "raw":
        return exp.Table(this=exp.to_identifier(reference_view(node.name)), alias=node.args.get("alias"))
    return node


def to_spark(sql: str) -> str:
    """`sql`, a query in DuckDB's SQL, in Spark's."""
    import sqlglot

    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_rewrite).sql(dialect="spark")
