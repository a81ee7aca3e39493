"""Shared vocabulary of every generator: entities (names, places, companies, goods), numbers,
dates and money, phrase tables and domain terms, each a parallel EN / zh-Hant / zh-Hans table,
plus the `Triple` / `Say` / `Facts` machinery that renders them (`common`, `hanzi`)."""
