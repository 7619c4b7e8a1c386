"""CSV and TSV results read by the readers people use: pandas, pyarrow and
astropy must keep every row of a one-column result, its NULLs included (an
empty line is skipped by all of them), and read the NULL as missing."""
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from astropy.io import ascii


@pytest.fixture
def table_with_nulls(corvus, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("id,ra,dec,mag,label\n1,10.0,1.0,7.5,a\n2,20.0,2.0,,\n3,30.0,3.0,9.25,c\n")
    corvus("ingest", csv, "--table", "t.t")
    return corvus


def result(corvus, adql, fmt):
    return corvus("query", adql, "--format", fmt).stdout


@pytest.mark.parametrize("fmt,sep,astropy_format", [("csv", ",", "csv"), ("tsv", "\t", "tab")])
def test_a_one_column_result_keeps_its_null_row_in_every_reader(table_with_nulls, fmt, sep, astropy_format):
    text = result(table_with_nulls, "SELECT mag FROM t.t ORDER BY id", fmt)
    assert "\n\n" not in text.replace("\r\n", "\n")

    pandas = pd.read_csv(io.StringIO(text), sep=sep)["mag"]
    assert len(pandas) == 3 and pandas.isna().tolist() == [False, True, False]
    assert pandas[2] == 9.25

    arrow = pacsv.read_csv(io.BytesIO(text.encode()), parse_options=pacsv.ParseOptions(delimiter=sep))
    assert arrow.column("mag").to_pylist() == [7.5, None, 9.25]

    astro = ascii.read(text, format=astropy_format)
    assert len(astro) == 3
    assert np.ma.getmaskarray(astro["mag"]).tolist() == [False, True, False]


@pytest.mark.parametrize("fmt,sep,astropy_format", [("csv", ",", "csv"), ("tsv", "\t", "tab")])
def test_a_one_column_text_result_keeps_its_null_row(table_with_nulls, fmt, sep, astropy_format):
    text = result(table_with_nulls, "SELECT label FROM t.t ORDER BY id", fmt)
    pandas = pd.read_csv(io.StringIO(text), sep=sep)["label"]
    assert pandas.isna().tolist() == [False, True, False]
    # pyarrow reads an empty text field as "" unless told otherwise, in any column.
    arrow = pacsv.read_csv(io.BytesIO(text.encode()), parse_options=pacsv.ParseOptions(delimiter=sep),
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    assert arrow.column("label").to_pylist() == ["a", None, "c"]
    astro = ascii.read(text, format=astropy_format)
    assert np.ma.getmaskarray(astro["label"]).tolist() == [False, True, False]


@pytest.mark.parametrize("fmt,sep", [("csv", ","), ("tsv", "\t")])
def test_several_columns_keep_null_as_an_empty_field(table_with_nulls, fmt, sep):
    text = result(table_with_nulls, "SELECT id, mag FROM t.t ORDER BY id", fmt)
    frame = pd.read_csv(io.StringIO(text), sep=sep)
    assert frame["id"].tolist() == [1, 2, 3]
    assert frame["mag"].isna().tolist() == [False, True, False]
    arrow = pacsv.read_csv(io.BytesIO(text.encode()), parse_options=pacsv.ParseOptions(delimiter=sep))
    assert arrow.column("mag").type == pa.float64()
