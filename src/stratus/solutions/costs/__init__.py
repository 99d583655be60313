"""Solution 4: public cloud cost processing (credentials API, uploader, ETL, reporting)."""
