# detection refuses it: PACKAGE_JSON_INVALID
# package.json is not valid JSON: Expected ',' or '}' after property value in JSON at position 60 (line 4 column 3)
