import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localeCookie, localeFromAcceptLanguage, localeFromLanguages, requestLocale } from './locale';

describe('the UI language', () => {
  it('follows Accept-Language by weight, then order, with English for languages the UI lacks', () => {
    assert.equal(localeFromAcceptLanguage('zh-CN,zh;q=0.9,en;q=0.8'), 'zh');
    assert.equal(localeFromAcceptLanguage('en-US,en;q=0.9,zh-CN;q=0.8'), 'en');
    assert.equal(localeFromAcceptLanguage('fr-FR, en;q=0.5, zh;q=0.7'), 'zh');
    assert.equal(localeFromAcceptLanguage('zh-Hant-TW'), 'zh');
    assert.equal(localeFromAcceptLanguage('de, fr'), 'en');
    assert.equal(localeFromAcceptLanguage('zh;q=0, en'), 'en');
    assert.equal(localeFromAcceptLanguage('*'), 'en');
    assert.equal(localeFromAcceptLanguage(''), 'en');
    assert.equal(localeFromAcceptLanguage(null), 'en');
    assert.equal(localeFromAcceptLanguage(';;,,q=,zh_CN'), 'zh');
  });

  it('follows navigator.languages in order', () => {
    assert.equal(localeFromLanguages(['ja', 'zh-TW', 'en']), 'zh');
    assert.equal(localeFromLanguages(['EN-gb', 'zh']), 'en');
    assert.equal(localeFromLanguages([]), 'en');
  });

  it('takes the lang cookie over the header, when the cookie names a UI language', () => {
    assert.equal(requestLocale('zh', 'en-US'), 'zh');
    assert.equal(requestLocale('en', 'zh-CN'), 'en');
    assert.equal(requestLocale('klingon', 'zh-CN'), 'zh');
    assert.equal(requestLocale(undefined, undefined), 'en');
    assert.match(localeCookie('zh'), /^lang=zh; Path=\/; Max-Age=\d+; SameSite=Lax$/);
  });
});
